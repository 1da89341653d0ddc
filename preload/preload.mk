# libcprof-malloc.so: the memory profiler's runtime (included by the
# top-level Makefile). Never sanitized (ASan must own malloc itself),
# never instrumented. libunwind is not linked: the shim dlopen()s it
# RTLD_LOCAL (see preload/traces.c), because a libunwind in the global
# scope takes over the host's backtrace() and _Unwind_Backtrace, and
# Debian's libunwind.a is not PIC, so it cannot be linked in hidden.
# Only the headers are used at build time.

# preload/exports.map keeps common/'s functions local to the shim too.

$(LIB_MALLOC): $(call rt_obj,$(PRELOAD_SRC) $(COMMON_SRC)) preload/exports.map
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -fvisibility=hidden -o $@ $(filter %.o,$^) \
		-Wl,--version-script=preload/exports.map -Wl,--exclude-libs,ALL -Wl,-z,nodelete -Wl,--no-undefined -lpthread -ldl

# The hooks keep a frame pointer: CPROF_UNWIND=fp starts its walk from the
# hook's own frame (see capture() in preload/hooks.c).
$(O)/obj-rt/preload/hooks.o: ALL_CFLAGS += -fno-omit-frame-pointer

# preload/spawn.c (exec and posix_spawn pass cprof's variables on to the
# child) goes into the call runtime too: `cprof run --no-mem` follows
# children as well.
$(LIB_INSTRUMENT): $(call rt_obj,preload/spawn.c)
