"""Pictures (visualizer) and video input/output (video_io) for the visualize and demo tools."""
