// What the fast engines' translation units include before their ISA's target region (see fast_isa.h).
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernel/fast_engines.h"
#include "kernel/fast_plan.h"
#include "layers/quadrature.h"
#include "ntk/arch.h"
#include "ntk/error.h"
#include "ntk/kernel.h"
#include "ntk/kernel_engine.h"
#include "ntk/parallel.h"
