# pprof export: C code generated at build time by protoc-c (package
# protobuf-c-compiler) from pprof's own profile.proto, as Debian ships it in
# golang-github-google-pprof-dev (installed by scripts/install-deps.sh; the
# schema is not copied here), into $(O)/gen/, compiled into $(O)/obj/gen/,
# linked into cprof with libprotobuf-c and zlib. Included from the Makefile
# after the $(CPROF) rule.

PPROF_PROTO_DIR ?= /usr/share/gocode/src/github.com/google/pprof/proto

PPROF_GEN := $(O)/gen/profile.pb-c.c $(O)/gen/profile.pb-c.h
PPROF_OBJ := $(O)/obj/gen/profile.pb-c.o
LDLIBS_CPROF += $(call dep_flags,libprotobuf-c) -lz

# One protoc-c run makes both files; the .h depends on the .c.
$(O)/gen/profile.pb-c.c: | $(DEPS_OK)
	$(call say,PROTOC,profile.proto)
	$(Q)mkdir -p $(@D)
	$(Q)protoc-c --c_out=$(@D) --proto_path=$(PPROF_PROTO_DIR) $(PPROF_PROTO_DIR)/profile.proto
$(O)/gen/profile.pb-c.h: $(O)/gen/profile.pb-c.c
	@:

$(PPROF_OBJ): $(PPROF_GEN) | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN_FLAGS) -w $(call dep_flags,libprotobuf-c) \
		-I$(O)/gen -c $< -o $@

$(call obj,reporter/export_pprof.c): $(O)/gen/profile.pb-c.h
$(call obj,reporter/export_pprof.c): ALL_CFLAGS += -I$(O)/gen $(call dep_flags,libprotobuf-c)

# The link recipe takes $^; the libraries come from $(LDLIBS_CPROF).
$(CPROF): $(PPROF_OBJ)
# Unit tests link every reporter object, export_pprof.o among them.
$(UNIT_BINS): $(PPROF_OBJ)
