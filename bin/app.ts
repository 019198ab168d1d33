#!/usr/bin/env node
import { createPipelineApp } from '../lib/app.js';

createPipelineApp();
