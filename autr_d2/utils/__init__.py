"""Pictures (visualizer), video input (video_io), its audio on the video's clock (audio_timeline)
and output (video_writer) for the tools."""
