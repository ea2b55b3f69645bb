# Runs pet_breeds with bad command lines and checks that each one exits with code 2 and names
# the option and the accepted values on stderr; also checks that --help works on every command.
#
# cmake -DPET_BREEDS=path/to/pet_breeds -DWORK_DIR=scratch/folder -P pet_breeds_usage_errors.cmake

cmake_minimum_required(VERSION 3.21)
foreach(var PET_BREEDS WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "pass -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/empty_out" "${WORK_DIR}/data/cat")
file(WRITE "${WORK_DIR}/model.nn" "not a model")
set(failures 0)

# expect_exit(CODE TEXT ARG...): runs pet_breeds ARG... and checks the exit code and that TEXT
# appears in its output (stderr for errors, stdout for help).
function(expect_exit code text)
  execute_process(COMMAND "${PET_BREEDS}" ${ARGN}
    WORKING_DIRECTORY "${WORK_DIR}"
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " shown "${ARGN}")
  if(NOT result STREQUAL "${code}")
    message(SEND_ERROR "pet_breeds ${shown}: expected exit code ${code}, got ${result}\n"
                       "stdout: ${out}\nstderr: ${err}")
    math(EXPR failures "${failures} + 1")
  else()
    string(FIND "${out}${err}" "${text}" position)
    if(position EQUAL -1)
      message(SEND_ERROR "pet_breeds ${shown}: expected the output to contain \"${text}\"\n"
                         "stdout: ${out}\nstderr: ${err}")
      math(EXPR failures "${failures} + 1")
    endif()
  endif()
  set(failures ${failures} PARENT_SCOPE)
endfunction()

# Commands.
expect_exit(2 "missing command; expected train, summary, evaluate or predict")
expect_exit(2 "unknown command \"fit\"; expected train, summary, evaluate or predict" fit)

# train
expect_exit(2 "unknown option \"--bogus\"; accepted options: --data, --epochs" train --bogus)
expect_exit(2 "Run 'pet_breeds train --help'" train --bogus)
expect_exit(2 "--data folder \"${WORK_DIR}/missing\" not found" train --data ${WORK_DIR}/missing)
expect_exit(2 "invalid value \"0\" for --epochs; expected a whole number of at least 1"
            train --epochs 0)
expect_exit(2 "invalid value \"ten\" for --epochs" train --epochs ten)
expect_exit(2 "invalid value \"3.5\" for --epochs" train --epochs=3.5)
expect_exit(2 "option --epochs expects a value N" train --epochs)
foreach(split 0 1 1.5 -0.2 nan abc)
  expect_exit(2 "invalid value \"${split}\" for --validation-split; expected a number between 0 and 1"
              train --validation-split ${split})
endforeach()
expect_exit(2 "invalid value \"7\" for --image-size; expected a whole number of pixels from 8"
            train --image-size 7)
expect_exit(2 "invalid value \"0\" for --batch-size; expected a whole number of at least 1"
            train --batch-size 0)
expect_exit(2 "invalid value \"0\" for --learning-rate; expected a number greater than 0"
            train --learning-rate 0)
expect_exit(2 "invalid value \"-0.001\" for --learning-rate" train --learning-rate -0.001)
expect_exit(2 "invalid value \"0\" for --threads; expected a whole number of at least 1"
            train --threads 0)
expect_exit(2 "invalid value \"-1\" for --seed; expected a whole number from 0" train --seed -1)
expect_exit(2 "option --augment takes no value" train --augment=yes)
expect_exit(2 "unexpected argument \"extra\"" train extra)
expect_exit(2 "--resume: no checkpoint" train --data ${WORK_DIR}/data --out ${WORK_DIR}/empty_out
            --resume)

# summary
expect_exit(2 "invalid value \"1\" for --classes; expected a whole number of at least 2"
            summary --classes 1)
expect_exit(2 "invalid value \"4\" for --image-size" summary --image-size 4)
expect_exit(2 "unknown option \"--data\"; accepted options: --augment, --classes, --image-size"
            summary --data x)

# evaluate
expect_exit(2 "missing option --model FILE" evaluate --data ${WORK_DIR}/data)
expect_exit(2 "--model file \"${WORK_DIR}/missing.nn\" not found"
            evaluate --model ${WORK_DIR}/missing.nn --data ${WORK_DIR}/data)
expect_exit(2 "missing option --data DIR" evaluate --model ${WORK_DIR}/model.nn)
expect_exit(2 "--data folder \"${WORK_DIR}/missing\" not found"
            evaluate --model ${WORK_DIR}/model.nn --data ${WORK_DIR}/missing)

# predict
expect_exit(2 "missing IMAGE; expected one or more image files" predict --model ${WORK_DIR}/model.nn)
expect_exit(2 "IMAGE file \"${WORK_DIR}/missing.jpg\" not found"
            predict --model ${WORK_DIR}/model.nn ${WORK_DIR}/missing.jpg)
expect_exit(2 "unknown option \"--data\"; accepted options: --model, --help"
            predict --data x)

# --help works everywhere, even next to a bad value, and exits with 0.
expect_exit(0 "Usage: pet_breeds COMMAND" --help)
expect_exit(0 "Usage: pet_breeds train [options]" train --help)
expect_exit(0 "Usage: pet_breeds train [options]" train --epochs 0 --help)
expect_exit(0 "--validation-split F" train --help)
expect_exit(0 "Usage: pet_breeds summary [options]" summary --help)
expect_exit(0 "Usage: pet_breeds evaluate --model FILE --data DIR" evaluate --help)
expect_exit(0 "Usage: pet_breeds predict --model FILE IMAGE..." predict --help)

# A model file that is not a model is a data error (1), not a usage error.
expect_exit(1 "model.nn" predict --model ${WORK_DIR}/model.nn ${WORK_DIR}/model.nn)

if(failures GREATER 0)
  message(FATAL_ERROR "${failures} usage check(s) failed")
endif()
message(STATUS "all usage checks passed")
