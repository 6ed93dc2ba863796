"""texplain-widgets."""
