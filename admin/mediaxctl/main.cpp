// mediaxctl: command-line client of mediaxd's admin API (see `mediaxctl --help`).
#include <iostream>
#include <string>
#include <vector>

#include "ctl.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return mediax::ctl::run(args, std::cout, std::cerr);
}
