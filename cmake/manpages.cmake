# The man pages deliveryd(8), deliveryctl(1) and deliveryd.toml(5): written in Markdown in docs/man/ and turned
# into roff by pandoc at build time, so that the pages have one source and cannot go stale beside a generated copy.
# Include it from the top-level CMakeLists.txt after DELIVERYD_VERSION is set: include(cmake/manpages.cmake).
#
#   DELIVERYD_MAN      AUTO (the default): the pages are built when pandoc 2.17 or newer is found, and left out
#                      with a message when not; ON: they must be built (a package build sets it, so that a missing
#                      pandoc fails the build instead of shipping no pages); OFF: never.
#   DELIVERYD_VERSION  the version in the pages' footer: the top-level CMakeLists.txt's cache variable (the
#                      project's version, or the Debian version the package build passes), set before this file.
#   PANDOC_EXECUTABLE  the pandoc to use, found on PATH unless set.
#
# The target `man` (part of `all`) writes ${CMAKE_BINARY_DIR}/man/<page>; `install` puts each page into
# ${CMAKE_INSTALL_MANDIR}/man<section> (uncompressed: dh_compress or the packager compresses them).
# To preview a page while editing it, without a build:
#   pandoc -s -t man --lua-filter cmake/man_minus.lua docs/man/deliveryd.toml.5.md | man -l -
include_guard(GLOBAL)
include(GNUInstallDirs)

set(DELIVERYD_MAN AUTO CACHE STRING "Build and install the man pages (needs pandoc): AUTO, ON or OFF")
set_property(CACHE DELIVERYD_MAN PROPERTY STRINGS AUTO ON OFF)

get_filename_component(deliveryd_man_source_dir "${CMAKE_CURRENT_LIST_DIR}/../docs/man" ABSOLUTE)
set(deliveryd_man_filter "${CMAKE_CURRENT_LIST_DIR}/man_minus.lua")
set(deliveryd_man_pages deliveryd.8 deliveryctl.1 deliveryd.toml.5)
# pandoc.write, which man_minus.lua needs, came with pandoc 2.17 (Debian 12's).
set(deliveryd_man_pandoc_minimum 2.17)

# AUTO, ON or OFF, whatever the case and spelling of the boolean (yes, 1, false, ...).
string(TOUPPER "${DELIVERYD_MAN}" deliveryd_man_mode)
if(NOT deliveryd_man_mode STREQUAL "AUTO")
  if(DELIVERYD_MAN)
    set(deliveryd_man_mode ON)
  else()
    set(deliveryd_man_mode OFF)
  endif()
endif()

# Why the pages cannot be built, or "" when they can.
set(deliveryd_man_missing "")
if(deliveryd_man_mode STREQUAL "OFF")
  message(STATUS "Man pages: not built (DELIVERYD_MAN is ${DELIVERYD_MAN})")
  return()
endif()
find_program(PANDOC_EXECUTABLE pandoc DOC "pandoc, which turns docs/man/*.md into the man pages")
if(NOT PANDOC_EXECUTABLE)
  set(deliveryd_man_missing "pandoc was not found")
else()
  execute_process(COMMAND "${PANDOC_EXECUTABLE}" --version OUTPUT_VARIABLE deliveryd_man_pandoc_version
                  RESULT_VARIABLE deliveryd_man_pandoc_result ERROR_QUIET)
  string(REGEX MATCH "^pandoc[^ ]* ([0-9][0-9.]*)" deliveryd_man_pandoc_version "${deliveryd_man_pandoc_version}")
  set(deliveryd_man_pandoc_version "${CMAKE_MATCH_1}")
  if(NOT deliveryd_man_pandoc_result EQUAL 0 OR deliveryd_man_pandoc_version STREQUAL "")
    set(deliveryd_man_missing "${PANDOC_EXECUTABLE} --version does not say which pandoc it is")
  elseif(deliveryd_man_pandoc_version VERSION_LESS deliveryd_man_pandoc_minimum)
    set(deliveryd_man_missing
        "${PANDOC_EXECUTABLE} is pandoc ${deliveryd_man_pandoc_version}, older than ${deliveryd_man_pandoc_minimum}")
  endif()
endif()
if(NOT deliveryd_man_missing STREQUAL "" AND deliveryd_man_mode STREQUAL "ON")
  message(FATAL_ERROR "DELIVERYD_MAN is ON, but the man pages cannot be built: ${deliveryd_man_missing}. "
                      "Install pandoc ${deliveryd_man_pandoc_minimum} or newer (apt-get install pandoc) or set "
                      "PANDOC_EXECUTABLE to one, or configure with -DDELIVERYD_MAN=OFF to build without the pages.")
elseif(NOT deliveryd_man_missing STREQUAL "")
  message(STATUS "Man pages: not built (${deliveryd_man_missing}; apt-get install pandoc, then configure again)")
  return()
endif()

set(deliveryd_man_version "${DELIVERYD_VERSION}")
message(STATUS "Man pages: built with pandoc ${deliveryd_man_pandoc_version}, for deliveryd ${deliveryd_man_version}")

# The footer is on pandoc's command line, which a Makefile does not watch: the pages depend on this file instead,
# which is rewritten only when the version changes.
set(deliveryd_man_dir "${CMAKE_BINARY_DIR}/man")
set(deliveryd_man_stamp "${deliveryd_man_dir}/version.txt")
file(CONFIGURE OUTPUT "${deliveryd_man_stamp}" CONTENT "deliveryd ${deliveryd_man_version}\n")

set(deliveryd_man_outputs "")
foreach(deliveryd_man_page IN LISTS deliveryd_man_pages)
  string(REGEX MATCH "[0-9]$" deliveryd_man_section "${deliveryd_man_page}")
  set(deliveryd_man_source "${deliveryd_man_source_dir}/${deliveryd_man_page}.md")
  set(deliveryd_man_output "${deliveryd_man_dir}/${deliveryd_man_page}")
  add_custom_command(
    OUTPUT "${deliveryd_man_output}"
    COMMAND "${PANDOC_EXECUTABLE}" --from markdown --to man --standalone
            --lua-filter "${deliveryd_man_filter}"
            --metadata "footer=deliveryd ${deliveryd_man_version}"
            --output "${deliveryd_man_output}" "${deliveryd_man_source}"
    DEPENDS "${deliveryd_man_source}" "${deliveryd_man_filter}" "${deliveryd_man_stamp}"
    COMMENT "Generating man page ${deliveryd_man_page}"
    VERBATIM)
  list(APPEND deliveryd_man_outputs "${deliveryd_man_output}")
  install(FILES "${deliveryd_man_output}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man${deliveryd_man_section}"
          COMPONENT man)
endforeach()

add_custom_target(man ALL DEPENDS ${deliveryd_man_outputs})
