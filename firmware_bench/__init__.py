"""Firmware bench: on-device harness (no torch), C code generation and Cortex-M emulation."""
