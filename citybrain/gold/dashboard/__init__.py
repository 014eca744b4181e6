"""The city operations panorama (城市运行全景图): a static site rendered from gold, charts as inline SVG."""
