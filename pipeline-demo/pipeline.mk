# sensor-pipeline, the demo workload (included by the top-level Makefile).
# Built the way a user builds a program for cprof: -finstrument-functions
# -g, and -fno-inline-functions-called-once so each stage stays its own
# function in the profile. Its objects live in $(O)/obj-pipeline, never
# sanitized (cprof run preloads the malloc shim, which ASan cannot share).
# The unit test links the plain $(O)/obj copies instead (sanitized under SAN=).

PIPELINE_SRC := $(wildcard pipeline-demo/*.c)
PIPELINE_LIB_SRC := $(filter-out pipeline-demo/main.c,$(PIPELINE_SRC))
PIPELINE := $(O)/bin/sensor-pipeline
PIPELINE_CFLAGS := -finstrument-functions -fno-inline-functions-called-once -Iinclude

all: $(PIPELINE)

$(O)/obj-pipeline/%.o: %.c | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PIPELINE_CFLAGS) -c $< -o $@

$(PIPELINE): $(patsubst %.c,$(O)/obj-pipeline/%.o,$(PIPELINE_SRC))
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -o $@ $^ -lm

# The unit test: the pattern rule's recipe links $^, so these extra
# prerequisites (the pipeline without main) are linked in too.
$(O)/obj/pipeline-demo/%.o: ALL_CFLAGS += -Iinclude
$(O)/tests/unit/test_pipeline: $(call obj,$(PIPELINE_LIB_SRC))

# Under SAN=, the demo program itself, main.c included, is also built
# sanitized: $(O)/bin/sensor-pipeline-san, the same flags plus
# $(SAN_FLAGS), in $(O)/obj-pipeline-san. It runs on its own, or under
# `cprof run --no-mem` with ASAN_OPTIONS=verify_asan_link_order=0 (the
# call profiler's runtime needs no malloc of its own; the malloc shim
# cannot be preloaded into it, as ASan owns malloc).
ifneq ($(SAN),)
PIPELINE_SAN := $(O)/bin/sensor-pipeline-san

all: $(PIPELINE_SAN)

$(O)/obj-pipeline-san/%.o: %.c | $(DEPS_OK)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(PIPELINE_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(PIPELINE_SAN): $(patsubst %.c,$(O)/obj-pipeline-san/%.o,$(PIPELINE_SRC))
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lm
endif

-include $(shell find $(O)/obj-pipeline $(O)/obj-pipeline-san -name '*.d' 2>/dev/null)
