// One exception type for the whole library. Every check that can fail on user input or resources throws
// ntk::Error with the file and line of the check; the CLI prints what() as one line and exits with 2.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>

namespace ntk {

// What kind of failure: lets front ends map errors (CLI exit codes, Python ValueError / MemoryError).
enum class ErrorKind { kInvalidInput, kOutOfMemory, kIo, kInternal, kInterrupted };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, const char* file, int line);
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }  // without file/line
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  ErrorKind kind_;
  std::string message_;
  const char* file_;
  int line_;
};

// printf-style formatting into a std::string.
std::string strprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vstrprintf(const char* fmt, va_list args);

[[noreturn]] void throw_error(ErrorKind kind, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

}  // namespace ntk

#define NTK_THROW_IF_NOT(cond, ...)                                                     \
  do {                                                                                  \
    if (!(cond)) ::ntk::throw_error(::ntk::ErrorKind::kInvalidInput, __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define NTK_THROW_KIND_IF_NOT(kind, cond, ...)                                \
  do {                                                                        \
    if (!(cond)) ::ntk::throw_error((kind), __FILE__, __LINE__, __VA_ARGS__); \
  } while (0)

#define NTK_THROW(...) ::ntk::throw_error(::ntk::ErrorKind::kInvalidInput, __FILE__, __LINE__, __VA_ARGS__)
