# oneDNN 3.x for the CPU provider, on TBB. Debian 12 packages oneDNN 2.6 only;
# the pip wheels onednn-cpu-tbb and onednn-devel-cpu-tbb (oneDNN 3.2 built for
# TBB, with the tbb / tbb-devel wheels and Intel's compiler runtime,
# intel-cmplr-lib-rt) put it under the Python environment's prefix, where CMake
# does not look: ask that Python where the devel wheel put its CMake package.
# -Ddnnl_DIR=... overrides. dynrt's own kernels use the same TBB
# (backends/cpu/kernel_util.h), so one work-stealing pool runs everything.
set(DYNRT_ONEDNN_MIN_VERSION 3.2)
find_package(dnnl ${DYNRT_ONEDNN_MIN_VERSION} CONFIG QUIET)
if(NOT dnnl_FOUND)
  if(Python_EXECUTABLE)
    set(_dynrt_python ${Python_EXECUTABLE})
  else()
    find_program(_dynrt_python NAMES python3 python)
  endif()
  set(_dynrt_onednn_hint "")
  if(_dynrt_python)
    execute_process(
      COMMAND ${_dynrt_python} -c [=[
import importlib.metadata as m, pathlib
try:
    d = m.distribution("onednn-devel-cpu-tbb")
    for f in d.files or []:
        if f.name == "dnnl-config.cmake":
            print(pathlib.Path(d.locate_file(f)).resolve().parent)
            break
except m.PackageNotFoundError:
    pass
]=]
      OUTPUT_VARIABLE _dynrt_onednn_hint OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(_dynrt_onednn_hint)
    # The same prefix holds TBB's CMake package (tbb-devel), which oneDNN's asks for.
    get_filename_component(_dynrt_prefix "${_dynrt_onednn_hint}/../../.." ABSOLUTE)
    list(APPEND CMAKE_PREFIX_PATH "${_dynrt_prefix}")
  endif()
  find_package(dnnl ${DYNRT_ONEDNN_MIN_VERSION} CONFIG QUIET HINTS ${_dynrt_onednn_hint})
endif()
if(NOT dnnl_FOUND OR NOT DNNL_CPU_THREADING_RUNTIME STREQUAL "TBB")
  message(FATAL_ERROR "dynrt needs oneDNN ${DYNRT_ONEDNN_MIN_VERSION} or later built for TBB: "
          "python3 -m pip install onednn-cpu-tbb==2023.2.0 onednn-devel-cpu-tbb==2023.2.0 tbb-devel==2021.13.1 "
          "intel-cmplr-lib-rt==2023.2.0 (scripts/install_deps.sh does), or point -Ddnnl_DIR at its lib/cmake/dnnl")
endif()
find_package(TBB REQUIRED COMPONENTS tbb)
get_target_property(_dynrt_dnnl_lib DNNL::dnnl IMPORTED_LOCATION_RELEASE)
get_filename_component(DYNRT_ONEDNN_LIB_DIR "${_dynrt_dnnl_lib}" DIRECTORY)
# The wheel's libdnnl needs Intel's libimf and libintlc and does not say where they
# are (no RUNPATH): linked as direct dependencies of ours, the loader finds them
# through our RUNPATH before it looks for oneDNN's.
find_library(DYNRT_LIBIMF NAMES imf HINTS ${DYNRT_ONEDNN_LIB_DIR})
find_library(DYNRT_LIBINTLC NAMES libintlc.so.5 intlc HINTS ${DYNRT_ONEDNN_LIB_DIR})
if(NOT DYNRT_LIBIMF OR NOT DYNRT_LIBINTLC)
  message(FATAL_ERROR "oneDNN's TBB build needs Intel's libimf and libintlc: "
          "python3 -m pip install intel-cmplr-lib-rt==2023.2.0")
endif()
add_library(dynrt_onednn INTERFACE)
target_link_libraries(dynrt_onednn INTERFACE DNNL::dnnl TBB::tbb
                      "-Wl,--push-state,--no-as-needed" ${DYNRT_LIBIMF} ${DYNRT_LIBINTLC} "-Wl,--pop-state")
message(STATUS "dynrt: oneDNN ${dnnl_VERSION} (TBB ${TBB_VERSION}) from ${DYNRT_ONEDNN_LIB_DIR}")
