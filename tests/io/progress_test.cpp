#include "nn/io/progress.hpp"

#include <sstream>
#include <string>

#include <doctest/doctest.h>

namespace {

// A clock that the test advances by hand.
struct FakeClock {
  double now = 100.0;
};

}  // namespace

TEST_CASE("Progress bar fills in proportion to the steps done") {
  CHECK(nn::detail::format_bar(0, 89, 30) == " 0/89 [..............................]");
  CHECK(nn::detail::format_bar(57, 89, 30) == "57/89 [==================>...........]");
  CHECK(nn::detail::format_bar(89, 89, 30) == "89/89 [==============================]");
  CHECK(nn::detail::format_bar(1, 3, 3) == "1/3 [>..]");
}

TEST_CASE("Progress metrics use four decimals and scientific notation below 1e-3") {
  CHECK(nn::detail::format_metric_value(2.67549) == "2.6755");
  CHECK(nn::detail::format_metric_value(0.0) == "0.0000");
  CHECK(nn::detail::format_metric_value(0.00012345) == "1.2345e-04");
  CHECK(nn::detail::format_metrics({{"loss", 2.6755}, {"accuracy", 0.2008}}) ==
        " - loss: 2.6755 - accuracy: 0.2008");
}

TEST_CASE("Progress times switch units like Keras") {
  CHECK(nn::detail::format_eta(4.4) == "4s");
  CHECK(nn::detail::format_eta(125) == "2:05");
  CHECK(nn::detail::format_eta(3725) == "1:02:05");
  CHECK(nn::detail::format_time_per_step(0.1214) == "121ms/step");
  CHECK(nn::detail::format_time_per_step(2.2) == "2s/step");
  CHECK(nn::detail::format_time_per_step(0.00085) == "850us/step");
}

TEST_CASE("Progress writes only the header and closing line when not on a terminal") {
  FakeClock clock;
  std::ostringstream out;
  nn::ConsoleProgress progress(out, false, 30, [&clock] { return clock.now; });

  progress.begin_epoch(2, 10, 89);
  for (nn::Index step = 1; step <= 89; ++step) {
    clock.now += 0.121;
    progress.update(step, {{"loss", 2.6755}, {"accuracy", 0.2008}});
  }
  clock.now += 0.231;
  const double seconds = progress.end_epoch(
      {{"loss", 2.6755}, {"accuracy", 0.2008}, {"val_loss", 2.842}, {"val_accuracy", 0.1612}});

  CHECK(seconds == doctest::Approx(89 * 0.121 + 0.231));
  CHECK(out.str() ==
        "Epoch 3/10\n"
        "89/89 [==============================] - 11s 124ms/step - loss: 2.6755 - accuracy: "
        "0.2008 - val_loss: 2.8420 - val_accuracy: 0.1612\n");
  CHECK(out.str().find('\r') == std::string::npos);
}

TEST_CASE("Progress redraws the bar in place on a terminal") {
  FakeClock clock;
  std::ostringstream out;
  nn::ConsoleProgress progress(out, true, 10, [&clock] { return clock.now; });

  progress.begin_epoch(0, 2, 4);
  clock.now += 1.0;
  progress.update(1, {{"loss", 3.0}});
  clock.now += 1.0;
  progress.update(2, {{"loss", 2.5}});
  progress.end_epoch({{"loss", 2.0}});

  const std::string text = out.str();
  CHECK(text.rfind("Epoch 1/2\n", 0) == 0);
  CHECK(text.find("\r1/4 [=>........] - ETA: 3s - loss: 3.0000") != std::string::npos);
  CHECK(text.find("\r2/4 [====>.....] - ETA: 2s - loss: 2.5000") != std::string::npos);
  CHECK(text.find("\r4/4 [==========] - 2s 500ms/step - loss: 2.0000") != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("Progress skips redraws closer together than the redraw interval") {
  FakeClock clock;
  std::ostringstream out;
  nn::ConsoleProgress progress(out, true, 10, [&clock] { return clock.now; });
  progress.set_redraw_interval(0.5);

  progress.begin_epoch(0, 1, 3);
  clock.now += 1.0;
  progress.update(1, {});
  clock.now += 0.1;
  progress.update(2, {});
  clock.now += 0.1;
  progress.update(3, {});

  const std::string text = out.str();
  CHECK(text.find("\r1/3") != std::string::npos);
  CHECK(text.find("\r2/3") == std::string::npos);
  CHECK(text.find("\r3/3") != std::string::npos);
}

TEST_CASE("Progress pads a shorter redraw so no old characters remain") {
  FakeClock clock;
  std::ostringstream out;
  nn::ConsoleProgress progress(out, true, 4, [&clock] { return clock.now; });
  progress.set_redraw_interval(0.0);

  progress.begin_epoch(0, 1, 2);
  clock.now += 100.0;  // an ETA of "1:40" is longer than the later "0s"
  progress.update(1, {});
  progress.update(2, {});

  const std::string text = out.str();
  const std::string first = "\r1/2 [=>..] - ETA: 1:40";
  const std::string second = "\r2/2 [====] - ETA: 0s  ";
  CHECK(text.find(first) != std::string::npos);
  CHECK(text.find(second) != std::string::npos);
}

TEST_CASE("Progress rejects a bar width or step count below one") {
  std::ostringstream out;
  CHECK_THROWS_WITH_AS(nn::ConsoleProgress(out, false, 0),
                       doctest::Contains("bar_width must be at least 1, got 0"), nn::ShapeError);
  nn::ConsoleProgress progress(out, false);
  CHECK_THROWS_WITH_AS(progress.begin_epoch(0, 1, 0),
                       doctest::Contains("steps must be at least 1, got 0"), nn::ShapeError);
}
