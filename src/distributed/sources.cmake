# The distributed layer (ntk/distributed.h) is its own library on top of libntk, so that MPI's headers and
# flags reach these files only. With NTK_ENABLE_MPI: MPI_COMM_WORLD and ScaLAPACK; without: a world of one
# process (ntk kernel / regress run as on one machine).
if(NTK_ENABLE_MPI)
  set(NTK_DISTRIBUTED_SOURCES src/distributed/mpi_world.cpp src/distributed/scalapack_solve.cpp)
else()
  set(NTK_DISTRIBUTED_SOURCES src/distributed/self_world.cpp)
endif()
add_library(ntk_distributed STATIC ${NTK_DISTRIBUTED_SOURCES})
target_include_directories(ntk_distributed PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(ntk_distributed PUBLIC ntk)
target_compile_options(ntk_distributed PRIVATE -Wall -Wextra -Wno-unused-parameter)
if(NTK_ENABLE_MPI)
  # Debian's libscalapack-openmpi carries BLACS; it runs on the same BLAS/LAPACK as the rest (its own
  # run-time dependencies).
  target_link_libraries(ntk_distributed PRIVATE MPI::MPI_CXX ${NTK_SCALAPACK_LIBRARY} ntk::blas)
endif()
