"""The official ncnn files (.param/.bin) read and converted to safetensors state dicts for the torch
runtime."""
