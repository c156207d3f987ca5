"""The handheld programmer on screen: `picostim handheld [--port P] [--clinician --key FILE]`.

model.py works out what to show from the board's answers, board.py talks to the board on its own
thread, widgets.py draws the panels, app.py puts them together with a key for every action.
"""
