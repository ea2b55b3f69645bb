# Installs nn into a scratch prefix, then configures, builds and runs a project that uses
# find_package(nn CONFIG REQUIRED). Any failing step fails the test.
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "step failed (${result}): ${ARGN}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} -S ${NN_SOURCE_DIR} -B ${WORK_DIR}/nn-build
  -DNN_BUILD_TESTS=OFF -DNN_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX=${prefix})
run_step(${CMAKE_COMMAND} --install ${WORK_DIR}/nn-build)
run_step(${CMAKE_COMMAND} -S ${NN_SOURCE_DIR}/tests/cmake/consumer -B ${WORK_DIR}/consumer-build
  -DCMAKE_PREFIX_PATH=${prefix})
run_step(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run_step(${WORK_DIR}/consumer-build/consumer)
