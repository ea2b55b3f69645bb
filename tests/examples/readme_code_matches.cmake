# Checks that README.md shows examples/minimal_training/main.cpp verbatim in a ```cpp block, so
# the code example in the README is one that compiles and runs.
#
# cmake -DREADME=README.md -DSOURCE=examples/minimal_training/main.cpp -P readme_code_matches.cmake

cmake_minimum_required(VERSION 3.21)
file(READ "${README}" readme)
file(READ "${SOURCE}" source)
string(FIND "${readme}" "```cpp\n${source}```" position)
if(position EQUAL -1)
  message(FATAL_ERROR "${README} must contain ${SOURCE} verbatim in a ```cpp block; copy the "
                      "file into the README's code example")
endif()
