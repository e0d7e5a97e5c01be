// ssd_spec_file.h — SSD model specs kept in a file (DRIVE.spec, as
// `memext-sim calibrate` writes), so `--device model:@DRIVE.spec` and
// `plan --drive @DRIVE.spec:CAPACITY` take a calibrated drive.
//
// File format: the spec text the parser takes ("model:<preset>,key=value,...",
// see parse_ssd_model_spec), possibly over several lines; a line's text from
// '#' on is a comment; lines are joined with ','. Blank lines are ignored.
#pragma once

#include <string>
#include <string_view>

#include "ssd/ssd_presets.h"

namespace memext {

// Reads the spec text out of the file at path into *spec (comments removed,
// lines joined). Returns "" on success, else a message naming the path and
// what is wrong (cannot open, empty).
std::string read_ssd_spec_file(const std::string& path, std::string* spec);

// Reads the file and parses its spec into *params. Returns "" or the error,
// which names the file.
std::string load_ssd_spec_file(const std::string& path, SsdModelParams* params);

// Expands "[model:]@PATH[,key=value...]" into "model:<the file's spec>[,key=value...]"
// (settings after the path override the file's). A spec without '@' comes
// back unchanged. PATH ends at the first ',' (so it may not contain one).
// Returns "" on success or the error.
std::string expand_ssd_spec_file(std::string_view spec, std::string* expanded);

}  // namespace memext
