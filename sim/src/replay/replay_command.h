// replay_command.h — `memext-sim replay`: parse the options, replay the
// trace, write the JSON report and print the summary.
#pragma once

namespace memext {

struct SimOptions;

// With options->sample_rate < 1: reads the trace once for the sample's item
// sizes and slab classes (not for stdin), then scales options->engine
// (sample_scaling.h) and records the full configuration and the rules in
// options->sample. Throws TraceError when the trace cannot be read, and
// std::invalid_argument when the scaled configuration is not valid.
void apply_sample_scaling(SimOptions* options);

// argv[0] is the subcommand name ("replay"). Returns the process exit code:
// 0 success, 1 runtime error (trace, device, I/O), 2 bad command line.
int replay_main(int argc, char** argv);

}  // namespace memext
