# Real MPI jobs (mpirun --oversubscribe -np 2 / 3 of the ntk command); skipped in builds without MPI.
list(APPEND NTK_TEST_SOURCES tests/distributed/test_mpi.cpp)
if(NTK_ENABLE_MPI)
  set_source_files_properties(tests/distributed/test_mpi.cpp PROPERTIES COMPILE_DEFINITIONS
                              "NTK_MPIEXEC=\"${MPIEXEC_EXECUTABLE}\"")
endif()
