# BLAS and LAPACK for ntk, as the imported target ntk::blas.
#
#   NTK_BLAS=auto      Intel MKL when it is installed, else OpenBLAS (the default)
#   NTK_BLAS=MKL       Intel MKL, or fail
#   NTK_BLAS=OpenBLAS  Debian's BLAS/LAPACK (OpenBLAS through the libblas/liblapack alternatives)
#
# MKL is looked for where `python3 -m pip install mkl-devel` puts it (<python prefix>/lib, also the base
# interpreter's prefix when CMake runs inside pip's isolated build environment or a virtual environment, and
# the user base of `pip install --user`) and under $MKLROOT (oneAPI).
# It is linked with its GNU OpenMP threading layer, so that MKL and ntk's own OpenMP regions share libgomp's
# threads instead of two pools competing for the cores. Why MKL first: on AVX-512 CPUs its dgemm/dsyrk run
# at ~90% of peak against OpenBLAS 0.3.21's ~75% (docs/benchmarks.md), and the input Gram is most of a
# fully-connected kernel's time.
#
# Sets NTK_BLAS_VENDOR (MKL | OpenBLAS).

set(NTK_BLAS "auto" CACHE STRING "BLAS/LAPACK backend: auto (MKL when installed, else OpenBLAS) | MKL | OpenBLAS")
set_property(CACHE NTK_BLAS PROPERTY STRINGS auto MKL OpenBLAS)
if(NOT NTK_BLAS MATCHES "^(auto|MKL|OpenBLAS)$")
  message(FATAL_ERROR "NTK_BLAS must be auto, MKL or OpenBLAS, got '${NTK_BLAS}'")
endif()

add_library(ntk::blas INTERFACE IMPORTED)

if(NOT NTK_BLAS STREQUAL "OpenBLAS")
  set(_ntk_mkl_hints)
  if(DEFINED ENV{MKLROOT})
    list(APPEND _ntk_mkl_hints "$ENV{MKLROOT}/lib" "$ENV{MKLROOT}/lib/intel64")
  endif()
  find_program(_ntk_python NAMES python3 python)
  if(_ntk_python)
    execute_process(COMMAND "${_ntk_python}" -c
                            "import site, sys; print(sys.prefix); print(sys.base_prefix); print(site.USER_BASE)"
                    OUTPUT_VARIABLE _ntk_prefixes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    string(REPLACE "\n" ";" _ntk_prefixes "${_ntk_prefixes}")
    foreach(_p IN LISTS _ntk_prefixes)
      list(APPEND _ntk_mkl_hints "${_p}/lib")
    endforeach()
  endif()
  set(_ntk_mkl_libs)
  foreach(_part intel_lp64 gnu_thread core)
    # PyPI's wheels carry only the versioned names (libmkl_core.so.2 / .so.3); oneAPI also the plain ones.
    find_library(NTK_MKL_${_part} NAMES mkl_${_part} libmkl_${_part}.so.3 libmkl_${_part}.so.2
                 HINTS ${_ntk_mkl_hints})
    list(APPEND _ntk_mkl_libs "${NTK_MKL_${_part}}")
  endforeach()
  if(NTK_MKL_intel_lp64 AND NTK_MKL_gnu_thread AND NTK_MKL_core)
    set(NTK_BLAS_VENDOR MKL)
    # --no-as-needed: the interface layer calls into the threading and core layers, which the linker would
    # otherwise drop as unused by ntk itself.
    set_target_properties(ntk::blas PROPERTIES INTERFACE_LINK_LIBRARIES
      "-Wl,--no-as-needed;${_ntk_mkl_libs};-Wl,--as-needed;OpenMP::OpenMP_CXX;pthread;m;dl")
    get_filename_component(_ntk_mkl_dir "${NTK_MKL_core}" DIRECTORY)
    message(STATUS "ntk BLAS/LAPACK: Intel MKL (GNU OpenMP layer) in ${_ntk_mkl_dir}")
  elseif(NTK_BLAS STREQUAL "MKL")
    message(FATAL_ERROR "NTK_BLAS=MKL but MKL was not found (python3 -m pip install mkl-devel, or set MKLROOT); "
                        "looked in: ${_ntk_mkl_hints}")
  endif()
endif()

if(NOT NTK_BLAS_VENDOR)
  find_package(BLAS REQUIRED)
  find_package(LAPACK REQUIRED)
  set(NTK_BLAS_VENDOR OpenBLAS)
  set_target_properties(ntk::blas PROPERTIES INTERFACE_LINK_LIBRARIES "${LAPACK_LIBRARIES};${BLAS_LIBRARIES}")
  message(STATUS "ntk BLAS/LAPACK: ${BLAS_LIBRARIES}")
endif()
