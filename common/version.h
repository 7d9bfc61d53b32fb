/* The lab's version, reported by every daemon's GET /status. */
#ifndef IMS_VERSION_H
#define IMS_VERSION_H

#define IMS_VERSION "0.1.0"

#endif
