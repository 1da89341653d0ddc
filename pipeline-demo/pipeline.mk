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

-include $(shell find $(O)/obj-pipeline -name '*.d' 2>/dev/null)
