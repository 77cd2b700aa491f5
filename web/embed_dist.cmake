# cmake -DVP_EMBED=<vp_embed> -DDIST=<dir> -DOUT=<file.c> -DSYMBOL=<name> -P embed_dist.cmake
#
# Runs at build time, after build.mjs: the asset names carry content hashes, so the
# list of files to embed is read from DIST/files.txt (written by build.mjs) instead of
# being known at configure time. Writes OUT only through vp_embed.
foreach(var VP_EMBED DIST OUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_dist.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS ${DIST}/files.txt)
  message(FATAL_ERROR "embed_dist.cmake: ${DIST}/files.txt is missing (web/build.mjs did not run)")
endif()
file(STRINGS ${DIST}/files.txt names)
set(args)
foreach(name IN LISTS names)
  if(NOT EXISTS ${DIST}/${name})
    message(FATAL_ERROR "embed_dist.cmake: ${DIST}/${name} listed in files.txt does not exist")
  endif()
  list(APPEND args ${DIST}/${name} ${name})
endforeach()
list(FIND names index.html has_index)
if(has_index EQUAL -1)
  message(FATAL_ERROR "embed_dist.cmake: no index.html in ${DIST}/files.txt")
endif()
execute_process(COMMAND ${VP_EMBED} ${OUT} ${SYMBOL} ${args} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embed_dist.cmake: vp_embed failed (${rc})")
endif()
