"""What people read across changes: help, /change list and show, history, the App Home."""
