// Typed attributes of the ops whose inference and kernels both read them:
// one struct and one parse(AttrReader) per op, so defaults, opset rules and
// validation live in one place. InferContext, RunShapeContext and KernelInit
// are all AttrReaders. (Spatial attributes of Conv and the pools:
// nnshape::read_spatial; Reshape: shapefn::ReshapeAttrs.)
#pragma once

#include "ops/attrs/normalization.h"
#include "ops/attrs/linalg_nn.h"
#include "ops/attrs/movement.h"
#include "ops/attrs/sequence.h"
#include "ops/attrs/vision_ml.h"
