/*
 * proto_plain.c - rmtd/proto.c once more, its four entry points renamed, for
 * fuzz_proto's byte-at-a-time run. meson.build compiles it without coverage
 * instrumentation: parsing an input a byte per call then costs what parsing
 * costs, not a trace call for every compare (most of the target's time when it
 * was instrumented). AddressSanitizer and UBSan still check it, and the other
 * runs, on the instrumented parser, give the fuzzer its coverage.
 */
#define proto_parse                 proto_plain_parse
#define proto_parser_init           proto_plain_parser_init
#define proto_parser_set_seek_order proto_plain_parser_set_seek_order
#define proto_parser_in_request     proto_plain_parser_in_request

#include "../../rmtd/proto.c"
