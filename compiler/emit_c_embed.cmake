# emit_c_embed.cmake - run with `cmake -P` at build time: writes OUT, a C file holding the bytes
# of every runtime source the C emitter may copy (runtime/kernels/*.c|*.h, runtime/exec.h that the
# control-flow kernels include, and the kiln/ headers), so a `kiln` binary emits C without needing
# the source tree.
# Usage: cmake -DROOT=<source dir> -DOUT=<file.c> -P emit_c_embed.cmake
file(GLOB kernels RELATIVE ${ROOT}/runtime ${ROOT}/runtime/kernels/*.c ${ROOT}/runtime/kernels/*.h
     ${ROOT}/runtime/exec.h)
file(GLOB headers RELATIVE ${ROOT}/include ${ROOT}/include/kiln/*.h ${ROOT}/include/kiln/*.def)
list(SORT kernels)
list(SORT headers)
set(body "")
set(table "")
set(i 0)
foreach(rel ${kernels} ${headers})
  if(rel MATCHES "^kernels/" OR rel STREQUAL "exec.h")
    set(path ${ROOT}/runtime/${rel})
  else()
    set(path ${ROOT}/include/${rel})
  endif()
  file(READ ${path} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char f${i}[] = {${hex}0};\n")
  string(APPEND table "    {\"${rel}\", f${i}, sizeof f${i} - 1},\n")
  math(EXPR i "${i} + 1")
endforeach()
set(text "/* generated from the runtime sources by compiler/emit_c_embed.cmake: do not edit */\n")
string(APPEND text "#include \"emit_c.h\"\n\n${body}\n")
string(APPEND text "const struct kiln_emit_source kiln_emit_sources[] = {\n${table}};\n")
string(APPEND text "const size_t kiln_emit_n_sources = ${i};\n")
file(WRITE ${OUT}.tmp "${text}")
file(RENAME ${OUT}.tmp ${OUT})
