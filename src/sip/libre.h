// The one include of libre for parley::sip's .cpp files. Never include this from a public
// header: the module's interfaces stay free of libre types.
//
// libre 1.1.0's headers expect the configure-time macros its own build defines; without
// HAVE_INTTYPES_H they redeclare the C99 integer types and fail under C++ (CMake sets the
// macros for parley_sip). The headers are added as SYSTEM includes because re_mem.h trips
// -Wvolatile under C++20.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdint>
#include <cstdio>

#include <re.h>
