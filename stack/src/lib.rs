//! `ddrm up`: starts and describes a whole local stack.
