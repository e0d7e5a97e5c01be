// sweep_command.h — `memext-sim sweep`: the command line of the sweep (local
// or --slurm), and the internal forms a Slurm job runs (--cell, --merge).
#pragma once

namespace memext {

// argv[0] is "sweep". Returns 0 success, 1 a cell or the run failed, 2 bad
// command line.
int sweep_main(int argc, char** argv);

}  // namespace memext
