# Shape programs of tests/e2e/test_vs_uftrace.py that need a library of
# their own: the plugins shape_dlopen loads, and the DT_NEEDED libraries of
# shape_ctors and shape_libdtor (found next to the program: $ORIGIN).
SHAPE_FLAGS := -std=gnu11 -g -O2 -fno-inline -finstrument-functions
SHAPE_LIBS := $(patsubst tests/progs/shape_libs/%.c,$(O)/tests/progs/libshape_%.so,$(wildcard tests/progs/shape_libs/*.c))
PROG_BINS += $(SHAPE_LIBS)

$(O)/tests/progs/libshape_%.so: tests/progs/shape_libs/%.c | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SHAPE_FLAGS) -shared -fPIC -Wl,-soname,$(@F) -o $@ $<

$(O)/tests/progs/shape_ctors: tests/progs/shape_ctors.c $(O)/tests/progs/libshape_ctor.so
$(O)/tests/progs/shape_libdtor: tests/progs/shape_libdtor.c $(O)/tests/progs/libshape_dtor.so
$(O)/tests/progs/shape_ctors $(O)/tests/progs/shape_libdtor: | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SHAPE_FLAGS) -o $@ $< $(filter %.so,$^) -Wl,-rpath,'$$ORIGIN'

# The uninstrumented main of an instrumented library and plugin.
$(O)/tests/progs/shape_plain_main: tests/progs/shape_plain_main.c $(O)/tests/progs/libshape_ctor.so | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -g -O2 -o $@ $< $(filter %.so,$^) -ldl -Wl,-rpath,'$$ORIGIN'
