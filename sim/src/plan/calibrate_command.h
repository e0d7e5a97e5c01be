// calibrate_command.h — `memext-sim calibrate FIO.json... --out DRIVE.spec`:
// fits the SSD model to fio results (plan/calibrate.h), prints measured
// against modelled figures and writes the spec file `--device model:@FILE`
// reads.
#pragma once

#include <string>

namespace memext {

// argv[0] is the subcommand name. Returns 0, 1 (unreadable input, failed
// write) or 2 (bad command line).
int calibrate_main(int argc, char** argv);

std::string calibrate_help();

}  // namespace memext
