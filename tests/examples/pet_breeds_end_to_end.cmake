# End-to-end test of pet_breeds on a few of the shipped photos at 32 x 32 pixels:
#   1. train with --augment for one epoch and check every file written (PNG signatures and
#      sizes, history.csv rows, classes.txt);
#   2. resume that run for a second epoch and check that history.csv continues;
#   3. train without --augment and check that no augmentation.png appears, and once more
#      without the TrueType font, which falls back to the built-in bitmap font; check the
#      parameter count of the tutorial's model in `summary`;
#   4. predict on two photos and check five classes per photo, highest probability first;
#   5. evaluate on the folder and check the loss, accuracy and per-class rows;
#   6. interrupt a long run with SIGINT and check the checkpoint, exit code 130 and --resume.
#
# cmake -DPET_BREEDS=path/to/pet_breeds -DDATA_DIR=examples/pet_breeds/data
#       -DWORK_DIR=scratch/folder -P pet_breeds_end_to_end.cmake

cmake_minimum_required(VERSION 3.21)
foreach(var PET_BREEDS DATA_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "pass -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# ---------------------------------------------------------------------------------------------
# Helpers

# run(OUT_VAR EXPECTED_CODE ARG...): runs pet_breeds, fails unless it exits with the code,
# and returns its stdout.
function(run out_var expected_code)
  execute_process(COMMAND "${PET_BREEDS}" ${ARGN}
    WORKING_DIRECTORY "${WORK_DIR}"
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " shown "${ARGN}")
  if(NOT result STREQUAL "${expected_code}")
    message(FATAL_ERROR "pet_breeds ${shown}: expected exit code ${expected_code}, got "
                        "${result}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

function(expect_contains text needle what)
  string(FIND "${text}" "${needle}" position)
  if(position EQUAL -1)
    message(FATAL_ERROR "${what}: expected to find \"${needle}\" in:\n${text}")
  endif()
endfunction()

# expect_png(PATH MIN_WIDTH MIN_HEIGHT): checks the PNG signature and that the IHDR chunk
# declares at least the given size.
function(expect_png path min_width min_height)
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "expected ${path} to be written")
  endif()
  file(READ "${path}" header LIMIT 24 HEX)
  string(SUBSTRING "${header}" 0 16 signature)
  if(NOT signature STREQUAL "89504e470d0a1a0a")
    message(FATAL_ERROR "${path}: expected the PNG signature 89504e470d0a1a0a, got ${signature}")
  endif()
  string(SUBSTRING "${header}" 24 8 chunk)
  if(NOT chunk STREQUAL "49484452")
    message(FATAL_ERROR "${path}: expected the IHDR chunk first, got ${chunk}")
  endif()
  string(SUBSTRING "${header}" 32 8 width_hex)
  string(SUBSTRING "${header}" 40 8 height_hex)
  math(EXPR width "0x${width_hex}")
  math(EXPR height "0x${height_hex}")
  if(width LESS min_width OR height LESS min_height)
    message(FATAL_ERROR "${path}: expected at least ${min_width} x ${min_height} pixels, got "
                        "${width} x ${height}")
  endif()
  file(SIZE "${path}" bytes)
  if(bytes LESS 2000)
    message(FATAL_ERROR "${path}: expected a picture of at least 2000 bytes, got ${bytes}")
  endif()
endfunction()

# expect_history(PATH ROWS): checks the header and that rows 1..ROWS hold epoch numbers 1..ROWS
# and six numeric fields with a positive loss.
function(expect_history path rows)
  file(STRINGS "${path}" lines)
  list(LENGTH lines count)
  math(EXPR expected "${rows} + 1")
  if(NOT count EQUAL expected)
    message(FATAL_ERROR "${path}: expected a header and ${rows} rows, got ${count} lines:\n"
                        "${lines}")
  endif()
  list(GET lines 0 header)
  if(NOT header STREQUAL "epoch,loss,accuracy,val_loss,val_accuracy,seconds")
    message(FATAL_ERROR "${path}: unexpected header \"${header}\"")
  endif()
  set(number "[0-9]+\\.[0-9]+")
  foreach(epoch RANGE 1 ${rows})
    list(GET lines ${epoch} row)
    if(NOT row MATCHES "^${epoch},(${number}),${number},${number},${number},${number}$")
      message(FATAL_ERROR "${path}: row ${epoch} expected \"${epoch},loss,accuracy,val_loss,"
                          "val_accuracy,seconds\" with numbers, got \"${row}\"")
    endif()
    if(CMAKE_MATCH_1 STREQUAL "0.000000")
      message(FATAL_ERROR "${path}: row ${epoch} has a zero training loss: \"${row}\"")
    endif()
  endforeach()
endfunction()

# ---------------------------------------------------------------------------------------------
# A small data set: the first 3 photos of 6 classes.

set(classes abyssinian beagle bombay pug samoyed "shiba inu")
set(data "${WORK_DIR}/data")
foreach(class IN LISTS classes)
  file(GLOB photos "${DATA_DIR}/${class}/*.jpg")
  list(SORT photos)
  list(SUBLIST photos 0 3 photos)
  file(COPY ${photos} DESTINATION "${data}/${class}")
endforeach()
set(common --data "${data}" --image-size 32 --batch-size 8 --seed 7)

# ---------------------------------------------------------------------------------------------
# 1. One epoch with augmentation.

set(out "${WORK_DIR}/augmented")
run(log 0 train ${common} --epochs 1 --augment --out "${out}")
expect_contains("${log}" "Found 18 files belonging to 6 classes." "train output")
expect_contains("${log}" "Using 15 files for training." "train output")
expect_contains("${log}" "Using 3 files for validation." "train output")
expect_contains("${log}" "['abyssinian', 'beagle', 'bombay', 'pug', 'samoyed', 'shiba inu']"
                "train output")
expect_contains("${log}" "random_flip (RandomFlip)" "train summary")
expect_contains("${log}" "dropout (Dropout)" "train summary")
expect_contains("${log}" "Epoch 1/1\n2/2 [==============================] - " "train progress")
expect_contains("${log}" " - val_accuracy: " "train progress")
string(FIND "${log}" "\r" carriage_return)
if(NOT carriage_return EQUAL -1)
  message(FATAL_ERROR "train output to a pipe must hold no carriage returns:\n${log}")
endif()

expect_png("${out}/training_curves.png" 1200 500)
expect_png("${out}/samples.png" 500 500)
expect_png("${out}/augmentation.png" 500 500)
expect_png("${out}/confusion_matrix.png" 200 200)
expect_history("${out}/history.csv" 1)
foreach(file model.nn checkpoint.nn)
  file(READ "${out}/${file}" magic LIMIT 8 HEX)
  if(NOT magic STREQUAL "894e4e4d4f440d0a")
    message(FATAL_ERROR "${out}/${file}: expected the model file signature, got ${magic}")
  endif()
endforeach()
file(STRINGS "${out}/classes.txt" saved_classes)
if(NOT saved_classes STREQUAL classes)
  message(FATAL_ERROR "classes.txt: expected \"${classes}\", got \"${saved_classes}\"")
endif()

# ---------------------------------------------------------------------------------------------
# 2. Resume for a second epoch: the first is skipped and history.csv continues.

run(log 0 train ${common} --epochs 2 --augment --out "${out}" --resume)
expect_contains("${log}" "Resuming from ${out}/checkpoint.nn after 1 of 2 epochs" "resume")
expect_contains("${log}" "Epoch 2/2\n" "resume")
string(FIND "${log}" "Epoch 1/2" first_epoch)
if(NOT first_epoch EQUAL -1)
  message(FATAL_ERROR "resume: epoch 1 ran again:\n${log}")
endif()
expect_history("${out}/history.csv" 2)

# Resuming at another image size is refused with the size to use.
execute_process(
  COMMAND "${PET_BREEDS}" train --data "${data}" --image-size 40 --epochs 3 --augment
          --out "${out}" --resume
  WORKING_DIRECTORY "${WORK_DIR}"
  RESULT_VARIABLE result OUTPUT_VARIABLE log ERROR_VARIABLE err)
if(NOT result EQUAL 1)
  message(FATAL_ERROR "resume at another size: expected exit code 1, got ${result}\n${err}")
endif()
expect_contains("${err}"
                "was trained on 32x32 images, got --image-size 40; resume with --image-size 32"
                "resume at another size")
expect_history("${out}/history.csv" 2)

# ---------------------------------------------------------------------------------------------
# 3. Without --augment: the first model of the tutorial, and no augmentation picture.

set(plain "${WORK_DIR}/plain")
run(log 0 train ${common} --epochs 1 --out "${plain}")
expect_contains("${log}" "Total params: 155,558" "plain summary")
if(EXISTS "${plain}/augmentation.png")
  message(FATAL_ERROR "augmentation.png must be written only with --augment")
endif()
expect_history("${plain}/history.csv" 1)

# Without the TrueType font the pictures fall back to the built-in bitmap font.
set(fallback "${WORK_DIR}/fallback_font")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env "PET_BREEDS_FONT=${WORK_DIR}/missing.ttf"
          "${PET_BREEDS}" train ${common} --epochs 1 --out "${fallback}"
  WORKING_DIRECTORY "${WORK_DIR}"
  RESULT_VARIABLE result OUTPUT_VARIABLE log ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "train without the font: expected exit code 0, got ${result}\n${err}")
endif()
expect_contains("${log}" "Note: the font \"${WORK_DIR}/missing.ttf\" could not be loaded, so "
                "train without the font")
expect_png("${fallback}/training_curves.png" 1200 500)
expect_png("${fallback}/samples.png" 500 500)
expect_png("${fallback}/confusion_matrix.png" 200 200)

# The tutorial's model, 23 classes at 180 x 180, has 3,991,607 parameters as in Keras.
run(log 0 summary --classes 23 --image-size 180)
expect_contains("${log}" "dense_1 (Dense)             (None, 23)                2967" "summary")
expect_contains("${log}" "Total params: 3,991,607\n" "summary")
run(log 0 summary --augment --classes 23 --image-size 180)
expect_contains("${log}" "dropout (Dropout)           (None, 22, 22, 64)        0" "summary")
expect_contains("${log}" "Total params: 3,991,607\n" "summary")

# ---------------------------------------------------------------------------------------------
# 4. predict: five classes per image with probabilities, highest first.

file(GLOB pug_photos "${data}/pug/*.jpg")
file(GLOB beagle_photos "${data}/beagle/*.jpg")
list(GET pug_photos 0 first_photo)
list(GET beagle_photos 0 second_photo)
run(log 0 predict --model "${out}/model.nn" "${first_photo}" "${second_photo}")
expect_contains("${log}" "${first_photo}\nThis image most likely belongs to " "predict")
expect_contains("${log}" "${second_photo}\nThis image most likely belongs to " "predict")
string(REGEX MATCHALL "\n  [1-5]\\. [a-z ]+ +[0-9]+\\.[0-9][0-9]%" ranks "${log}")
list(LENGTH ranks rank_count)
if(NOT rank_count EQUAL 10)
  message(FATAL_ERROR "predict: expected 5 ranked classes for each of 2 images, got "
                      "${rank_count}:\n${log}")
endif()
set(previous 100000)
set(index 0)
foreach(rank IN LISTS ranks)
  string(REGEX MATCH "([0-9]+)\\.([0-9][0-9])%" percent "${rank}")
  math(EXPR value "${CMAKE_MATCH_1} * 100 + ${CMAKE_MATCH_2}")
  math(EXPR position "${index} % 5")
  if(position GREATER 0 AND value GREATER previous)
    message(FATAL_ERROR "predict: probabilities must not increase down the list:\n${log}")
  endif()
  set(previous ${value})
  math(EXPR index "${index} + 1")
endforeach()

# ---------------------------------------------------------------------------------------------
# 5. evaluate: loss, accuracy and one row per class.

run(log 0 evaluate --model "${out}/model.nn" --data "${data}")
expect_contains("${log}" "Evaluated ${out}/model.nn on 18 images of 6 classes" "evaluate")
if(NOT log MATCHES "\nloss: [0-9]+\\.[0-9]+ - accuracy: [01]\\.[0-9]+\n")
  message(FATAL_ERROR "evaluate: expected a \"loss: ... - accuracy: ...\" line:\n${log}")
endif()
if(NOT log MATCHES "\nclass +count +correct +precision +recall\n")
  message(FATAL_ERROR "evaluate: expected the per-class table header:\n${log}")
endif()
foreach(class IN LISTS classes)
  if(NOT log MATCHES "\n${class} +3 +[0-3] +")
    message(FATAL_ERROR "evaluate: expected a row for ${class} with 3 images:\n${log}")
  endif()
endforeach()
if(NOT log MATCHES "\nmean +18 +[0-9]+ ")
  message(FATAL_ERROR "evaluate: expected a mean row over 18 images:\n${log}")
endif()

# ---------------------------------------------------------------------------------------------
# 6. Ctrl-C: SIGINT during a long run saves a checkpoint and exits with 130; --resume goes on.

find_program(TIMEOUT timeout REQUIRED)
set(stopped "${WORK_DIR}/interrupted")
execute_process(
  COMMAND "${TIMEOUT}" --preserve-status -s INT 4
          "${PET_BREEDS}" train ${common} --epochs 100000 --out "${stopped}"
  WORKING_DIRECTORY "${WORK_DIR}"
  RESULT_VARIABLE result OUTPUT_VARIABLE log ERROR_VARIABLE err)
if(NOT result EQUAL 130)
  message(FATAL_ERROR "interrupted train: expected exit code 130, got ${result}\n"
                      "stdout:\n${log}\nstderr:\n${err}")
endif()
if(NOT log MATCHES "\nInterrupted [^\n]*Saved ${stopped}/checkpoint\\.nn[^\n]* ([0-9]+) complete epochs?|\nInterrupted after ([0-9]+) complete epochs?\\. Saved ${stopped}/checkpoint\\.nn")
  message(FATAL_ERROR "interrupted train: expected it to report the saved checkpoint:\n${log}")
endif()
set(done "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
if(NOT EXISTS "${stopped}/checkpoint.nn")
  message(FATAL_ERROR "interrupted train: expected ${stopped}/checkpoint.nn")
endif()
if(done GREATER 0)
  expect_history("${stopped}/history.csv" ${done})
endif()
math(EXPR next "${done} + 1")
run(log 0 train ${common} --epochs ${next} --out "${stopped}" --resume)
expect_contains("${log}" "Epoch ${next}/${next}\n" "resume after Ctrl-C")
expect_history("${stopped}/history.csv" ${next})
expect_png("${stopped}/confusion_matrix.png" 200 200)

message(STATUS "pet_breeds end-to-end checks passed")
