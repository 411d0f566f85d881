"""Encoder pipeline: MP3 packetizer, frame buffer, FFmpeg supervisor."""
