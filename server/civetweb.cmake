# civetweb, compiled from Debian's own source package (scripts/fetch-civetweb).
# Debian's binary package targets the OpenSSL 1.1 API and crashes on HTTPS with
# OpenSSL 3 (shared PITFALLS), so we build civetweb.c with the 3.0 API, linked
# (not dlopen'ed) against libssl, with a 1 MiB worker stack (the default 100 KiB
# overflowed on nested JSON). No CGI, no file serving: the UI comes from memory.
set(CIVETWEB_SOURCE_DIR ${CMAKE_SOURCE_DIR}/build/_deps/civetweb
    CACHE PATH "Unpacked Debian civetweb source package")
if(NOT EXISTS ${CIVETWEB_SOURCE_DIR}/src/civetweb.c)
  execute_process(COMMAND ${CMAKE_SOURCE_DIR}/scripts/fetch-civetweb ${CIVETWEB_SOURCE_DIR}
                  RESULT_VARIABLE fetch_rc)
  if(NOT fetch_rc EQUAL 0)
    message(FATAL_ERROR "could not fetch civetweb's Debian source package (run scripts/setup)")
  endif()
endif()
add_library(civetweb STATIC ${CIVETWEB_SOURCE_DIR}/src/civetweb.c)
target_include_directories(civetweb SYSTEM PUBLIC ${CIVETWEB_SOURCE_DIR}/include)
target_compile_definitions(civetweb PRIVATE OPENSSL_API_3_0 NO_SSL_DL USE_IPV6 USE_WEBSOCKET
                           USE_SERVER_STATS NO_CGI NO_FILES USE_STACK_SIZE=1048576)
# third-party code: its warnings are not ours to fix
target_compile_options(civetweb PRIVATE -w -Wno-error)
target_link_libraries(civetweb PUBLIC OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
