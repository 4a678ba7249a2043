"""What leaves the room: the plan's PDF (laid out by a separate render service), its
CSV and JSON exports, verification of a file or hash, and mail."""
