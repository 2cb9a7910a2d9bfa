"""MultiSSL Studio core library: everything except the Streamlit UI."""
