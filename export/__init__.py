"""Export: step-module extraction with a fixed ODE solver, ONNX/TFLite emission, int8 quantization, manifest."""
