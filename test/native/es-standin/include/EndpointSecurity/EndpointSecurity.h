// Stand-in for Apple's <EndpointSecurity/EndpointSecurity.h> on Linux (test build only).
// It declares exactly the subset of the ES C API that macsensor uses, with Apple's names, types, values and
// field order, so the same ES code compiles against Apple's SDK on macOS and against this on Linux.
// Written from the public documentation of the API; see test/native/es-standin/standin.cc for the semantics.
#pragma once

#define __ENDPOINT_SECURITY_INDIRECT__
#include <EndpointSecurity/ESTypes.h>
#include <EndpointSecurity/ESMessage.h>
#include <EndpointSecurity/ESClient.h>
#undef __ENDPOINT_SECURITY_INDIRECT__
