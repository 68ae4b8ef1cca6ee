"""The runtimes: a network loaded on a device and precision its caller names, run in tiled windows.

torch through spandrel (models.runtimes.spandrel_upscaler), ncnn (ncnn_upscaler), numpy filters
(classical), and our own networks (srcnn, faithful). Nothing here reads a process-wide setting: a loader is
told its device and precision.
"""
