// replay_command.h — `memext-sim replay`: parse the options, replay the
// trace, write the JSON report and print the summary.
#pragma once

namespace memext {

// argv[0] is the subcommand name ("replay"). Returns the process exit code:
// 0 success, 1 runtime error (trace, device, I/O), 2 bad command line.
int replay_main(int argc, char** argv);

}  // namespace memext
