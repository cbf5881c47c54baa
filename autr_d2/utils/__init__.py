"""Pictures (visualizer), video input (video_io) and output (video_writer) for the tools."""
