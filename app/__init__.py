"""The investment-project pipeline service."""
