# oneDNN 3.x for the CPU provider. Debian 12 packages oneDNN 2.6 only; the pip
# wheels onednn-cpu-gomp and onednn-devel-cpu-gomp (oneDNN 3.2 built for GNU
# OpenMP, which dynrt's own kernels use too) put it under the Python
# environment's prefix, where CMake does not look: ask that Python where the
# devel wheel put its CMake package. -Ddnnl_DIR=... overrides.
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
    d = m.distribution("onednn-devel-cpu-gomp")
    for f in d.files or []:
        if f.name == "dnnl-config.cmake":
            print(pathlib.Path(d.locate_file(f)).resolve().parent)
            break
except m.PackageNotFoundError:
    pass
]=]
      OUTPUT_VARIABLE _dynrt_onednn_hint OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  find_package(dnnl ${DYNRT_ONEDNN_MIN_VERSION} CONFIG QUIET HINTS ${_dynrt_onednn_hint})
endif()
if(NOT dnnl_FOUND)
  message(FATAL_ERROR "dynrt needs oneDNN ${DYNRT_ONEDNN_MIN_VERSION} or later built for OpenMP: "
          "python3 -m pip install onednn-cpu-gomp==2023.2.0 onednn-devel-cpu-gomp==2023.2.0 "
          "(scripts/install_deps.sh does), or point -Ddnnl_DIR at its lib/cmake/dnnl")
endif()
get_target_property(_dynrt_dnnl_lib DNNL::dnnl IMPORTED_LOCATION_RELEASE)
get_filename_component(DYNRT_ONEDNN_LIB_DIR "${_dynrt_dnnl_lib}" DIRECTORY)
message(STATUS "dynrt: oneDNN ${dnnl_VERSION} from ${DYNRT_ONEDNN_LIB_DIR}")
