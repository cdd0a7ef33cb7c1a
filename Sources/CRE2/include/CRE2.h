#ifndef CRE2_H
#define CRE2_H
#endif
