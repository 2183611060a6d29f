# Script mode: writes OUT, a C++ file defining empi::embedded::SYMBOL as the bytes of IN.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR n "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," body "${hex}")
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#include <string_view>\nnamespace empi::embedded {\nstatic const char k${SYMBOL}[] = {${body} 0};\nextern const std::string_view ${SYMBOL}(k${SYMBOL}, ${n});\n}  // namespace empi::embedded\n")
