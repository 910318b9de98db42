# install_pc.cmake - run by `cmake --install` (see install.cmake): writes kilnrt.pc for the
# prefix being installed to and installs it into <libdir>/pkgconfig. file(INSTALL) adds
# $DESTDIR itself, and records the file in install_manifest.txt.
set(prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${KILNRT_${dir}}")
    set(KILNRT_PC_${dir} "${KILNRT_${dir}}")
    set(KILNRT_FULL_${dir} "${KILNRT_${dir}}")
  else()
    set(KILNRT_PC_${dir} "\${prefix}/${KILNRT_${dir}}")
    set(KILNRT_FULL_${dir} "${prefix}/${KILNRT_${dir}}")
  endif()
endforeach()
configure_file("${KILNRT_PC_IN}" "${KILNRT_PC_OUT}" @ONLY)
file(INSTALL "${KILNRT_PC_OUT}" DESTINATION "${KILNRT_FULL_LIBDIR}/pkgconfig")
