#pragma once
#define NTK_VERSION_STRING "0.1.0"
